//! What a query may write. The lake's tables change only through
//! authlake's commits (a file written beside them is seen by engines that
//! list directories and not by the table): a query never writes to them.
//! `query --allow-writes` allows one thing more, `COPY (...) TO` a path
//! outside the lake.

use std::path::{Component, Path, PathBuf};

use authlake_lake::{Lake, Location};
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::context::SQLOptions;
use datafusion::sql::parser::{DFParser, Statement};

use crate::context::QueryError;

/// The writes a query may make.
#[derive(Debug, Clone, Copy)]
pub enum Writes<'a> {
    /// None: queries only.
    Refused,
    /// `COPY ... TO` a path outside this lake.
    CopyOutside(&'a Lake),
}

/// The options `sql` runs with, or why it may not run.
pub fn options(sql: &str, writes: Writes<'_>) -> Result<SQLOptions, QueryError> {
    let read_only = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let Writes::CopyOutside(lake) = writes else {
        return Ok(read_only);
    };
    let statements = Vec::from(DFParser::parse_sql(sql)?);
    let [Statement::CopyTo(copy)] = statements.as_slice() else {
        return Ok(read_only);
    };
    if let Some(why) = inside_lake(&copy.target, lake) {
        return Err(QueryError::Refused(why));
    }
    Ok(read_only.with_allow_dml(true))
}

/// Why `target` is inside `lake`, if it is. The target is read as the
/// planner reads it (`ListingTableUrl::parse`: the scheme in any case,
/// `%xx` escapes decoded, `..` resolved, relative to the working
/// directory), and a local path through its symbolic links.
fn inside_lake(target: &str, lake: &Lake) -> Option<String> {
    let refuse = |why: &str| Some(format!("COPY TO {target:?} {why} the lake {}: copy to a path outside it", lake.display()));
    let Ok(url) = ListingTableUrl::parse(target) else {
        return refuse("cannot be told apart from");
    };
    let parts: Vec<String> = url.prefix().parts().map(|p| p.as_ref().to_string()).collect();
    let store = url.object_store();
    match &lake.location {
        Location::S3 { bucket, prefix } => {
            let same_bucket = store.as_str().trim_end_matches('/').eq_ignore_ascii_case(&format!("s3://{bucket}"));
            let lake_parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
            let under = parts.len() >= lake_parts.len() && parts.iter().zip(&lake_parts).all(|(a, b)| a == b);
            (same_bucket && under).then(|| refuse("writes inside")).flatten()
        }
        Location::Local(root) => {
            if url.scheme() != "file" {
                return None; // another store: not this lake's directory
            }
            let path = resolve(&Path::new("/").join(parts.join("/")));
            path.starts_with(root).then(|| refuse("writes inside")).flatten()
        }
    }
}

/// `path` made absolute with `..` resolved: the longest part that exists
/// through the file system (symbolic links followed), the rest lexically.
fn resolve(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lexical = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match existing.file_name() {
            Some(name) => rest.push(name.to_os_string()),
            None => break,
        }
        existing.pop();
    }
    let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
    out.extend(rest.iter().rev());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_is_allowed_outside_the_lake_only() {
        let dir = tempfile::tempdir().unwrap();
        let lake_dir = dir.path().join("lake");
        let lake = Lake::open(lake_dir.to_str().unwrap(), true).unwrap();
        let writes = Writes::CopyOutside(&lake);
        let out = dir.path().join("out.parquet");
        assert!(options(&format!("COPY (SELECT 1) TO '{}'", out.display()), writes).is_ok());
        let lake_s = lake_dir.display().to_string();
        for inside in [
            format!("{lake_s}/category=auth/x.parquet"),
            format!("{}/out/../lake/x.parquet", dir.path().display()),
            format!("FILE://{lake_s}/x.parquet"),
            format!("file:{lake_s}/x.parquet"),
            format!("file://{lake_s}/%63ategory=auth/x.parquet"),
        ] {
            let err = options(&format!("COPY (SELECT 1) TO '{inside}'"), writes).unwrap_err();
            assert!(err.to_string().contains("the lake"), "{inside}: {err}");
        }
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&lake_dir, &link).unwrap();
            assert!(options(&format!("COPY (SELECT 1) TO '{}/y.parquet'", link.display()), writes).is_err());
        }
    }

    #[test]
    fn s3_targets_under_the_lake_prefix_are_inside() {
        let lake = Lake::open("s3://audit/auth", false).unwrap();
        assert!(inside_lake("s3://audit/auth/x.parquet", &lake).is_some());
        assert!(inside_lake("s3://audit/auth", &lake).is_some());
        assert!(inside_lake("S3://audit/auth/x.parquet", &lake).is_some());
        assert!(inside_lake("s3://audit/%61uth/x.parquet", &lake).is_some());
        assert!(inside_lake("s3://audit/authx/x.parquet", &lake).is_none());
        assert!(inside_lake("s3://other/auth/x.parquet", &lake).is_none());
    }
}
