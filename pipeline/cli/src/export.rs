//! `authlake export` and `authlake export verify`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use authlake_analytics::export::manifest::Authenticity;
use authlake_analytics::export::signature::{self, SigningKey, VerifyingKey};
use authlake_analytics::export::{export, manifest, ExportFormat, ExportOptions};

use crate::exit::{coded, Exit, ExitContext};
use authlake_lake::Lake;
use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub command: Option<ExportCommand>,
    /// Lake: a directory or s3://bucket/prefix [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Start (inclusive): RFC 3339 or YYYY-MM-DD (UTC midnight).
    #[arg(long, required = true)]
    pub from: Option<String>,
    /// End (exclusive): RFC 3339, or YYYY-MM-DD for the end of that day.
    #[arg(long, required = true)]
    pub to: Option<String>,
    /// Only this user pool.
    #[arg(long)]
    pub user_pool: Option<String>,
    /// Only this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only this person: a username or a sub.
    #[arg(long)]
    pub user: Option<String>,
    /// Only these event types (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub event_type: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Parquet)]
    pub format: Format,
    /// OCSF only: `security-lake` writes Parquet in the Amazon Security Lake custom-source layout.
    #[arg(long, value_enum, default_value_t = Layout::Files)]
    pub layout: Layout,
    /// Pseudonymize these fields: ip, email, username, sub, device (drops `raw`).
    #[arg(long, value_delimiter = ',')]
    pub redact: Vec<String>,
    /// Key file for --redact pseudonyms (same key, same pseudonym).
    #[arg(long)]
    pub redact_key: Option<PathBuf>,
    /// Sign the manifest: an Ed25519 private key in PKCS#8 PEM
    /// (`openssl genpkey -algorithm ed25519 -out export.key`; reviewers
    /// check with the public key and cannot sign), or any other file of
    /// at least 16 bytes as an HMAC-SHA256 key (whoever checks can also sign).
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
    /// Output directory (created; must be empty).
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
    /// Export the lake as it was at this events-table version or moment;
    /// the manifest records the version read (`table_version`), so an
    /// export `--as-of` it repeats the data files byte for byte.
    #[arg(long, value_name = "VERSION|TIME")]
    pub as_of: Option<authlake_lake::AsOf>,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Recompute every figure of an export's manifest from its files (file
    /// list, sizes, SHA-256, rows per file and in total) and check its
    /// signature; exit 4 on any difference.
    Verify {
        /// The export directory.
        dir: PathBuf,
        /// Ed25519 public key (SPKI PEM, `openssl pkey -in export.key -pubout`)
        /// that must have signed the manifest.
        #[arg(long, value_name = "FILE", conflicts_with = "sign_key")]
        public_key: Option<PathBuf>,
        /// HMAC-SHA256 key file the manifest must have been signed with.
        #[arg(long, value_name = "FILE")]
        sign_key: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Parquet,
    Csv,
    Jsonl,
    Ocsf,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Layout {
    Files,
    SecurityLake,
}

fn read_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    let key = std::fs::read(path).with_context(|| format!("cannot read key file {}", path.display())).exit_code(Exit::Usage)?;
    if key.len() < 16 {
        return Err(coded(Exit::Usage, format!("key file {} holds {} bytes; use at least 16", path.display(), key.len())));
    }
    Ok(key)
}

/// What the success line of `export verify` says the export proves.
fn authenticity_line(a: &Authenticity) -> String {
    match a {
        Authenticity::Signed { algorithm, key_id } if algorithm == signature::ED25519_NAME => format!(
            "signed with Ed25519 by the key given{}: only the holder of its private key could have written this manifest",
            key_id.as_ref().map(|k| format!(" (key id {})", &k[..16.min(k.len())])).unwrap_or_default()
        ),
        Authenticity::Signed { algorithm, .. } => format!(
            "signed with {algorithm}: someone holding the shared key wrote this manifest (anyone who can check it could also have signed it)"
        ),
        Authenticity::Unsigned => "UNSIGNED: the files match manifest.json, which proves they are whole and unchanged \
            since the manifest was written, not who wrote it; anyone who could change the files could also have rewritten \
            the manifest. Sign exports (--sign-key) to prove that"
            .into(),
    }
}

/// Parses `--from`/`--to`: RFC 3339, or a date (`end_of_day` for `--to`), µs.
pub fn parse_time(s: &str, end_of_day: bool) -> anyhow::Result<i64> {
    Ok(crate::time::parse_time(s, chrono::Utc::now(), end_of_day)?.timestamp_micros())
}

impl ExportArgs {
    /// `--lake` of an export (not of `export verify`).
    pub fn lake_mut(&mut self) -> Option<&mut Option<String>> {
        self.command.is_none().then_some(&mut self.lake)
    }
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    if let Some(ExportCommand::Verify { dir, public_key, sign_key }) = args.command {
        let key = match (public_key, sign_key) {
            (Some(p), _) => Some(VerifyingKey::public_key_file(&p).exit_code(Exit::Usage)?),
            (None, Some(k)) => Some(VerifyingKey::hmac_file(&k).exit_code(Exit::Usage)?),
            (None, None) => None,
        };
        let v = match manifest::verify(&dir, key.as_ref()) {
            Ok(v) => v,
            Err(e @ manifest::VerifyError::Io(..)) => return Err(anyhow::Error::new(e).context(format!("cannot verify export {}", dir.display()))),
            Err(e) => return Err(coded(Exit::CheckFailed, format!("export {} does not verify: {e}", dir.display()))),
        };
        println!("export {} verified: {} files, {} rows; {}", dir.display(), v.manifest.files.len(), v.manifest.rows, authenticity_line(&v.authenticity));
        return Ok(());
    }
    let lake = crate::cli::lake(&args.lake)?.to_string();
    let (Some(from), Some(to), Some(out)) = (args.from, args.to, args.out) else {
        anyhow::bail!("--from, --to and --out are required");
    };
    let opts = ExportOptions {
        from: parse_time(&from, false)?,
        to: parse_time(&to, true)?,
        user_pool: args.user_pool,
        tenant: args.tenant,
        user: args.user,
        event_types: args.event_type,
        format: match args.format {
            Format::Parquet => ExportFormat::Parquet,
            Format::Csv => ExportFormat::Csv,
            Format::Jsonl => ExportFormat::Jsonl,
            Format::Ocsf => ExportFormat::Ocsf,
        },
        security_lake: args.layout == Layout::SecurityLake,
        redact: args.redact,
        redact_key: args.redact_key.as_deref().map(read_key).transpose()?,
        sign_key: args.sign_key.as_deref().map(SigningKey::from_file).transpose().exit_code(Exit::Usage)?,
        out,
        as_of: args.as_of,
    };
    let lake = Lake::open(&lake, false)?;
    let tty = crate::logging::show_progress();
    let summary = export(&lake, &opts, &|rows| {
        if tty {
            eprint!("\r  exported {rows} rows");
        }
    })
    .await?;
    if tty {
        eprint!("\r{:40}\r", "");
    }
    let version = summary.table_version.map(|v| format!(" (table version {v})")).unwrap_or_default();
    println!("exported {} rows in {} files -> {}{version}", summary.rows, summary.files, summary.dir.display());
    Ok(())
}
