//! `authlake dashboards sync|render`.

use std::path::PathBuf;

use anyhow::Context;
use authlake_analytics::lake_context;
use authlake_lake::Lake;
use authlake_kpi::cloudwatch::{client, ClientOptions};
use authlake_kpi::dashboards::{report, sync as dash_sync};
use chrono::Utc;
use clap::{Args, Subcommand};

use crate::config::MetricsConfig;

#[derive(Debug, Args)]
pub struct DashboardsArgs {
    #[command(subcommand)]
    pub action: DashboardsAction,
}

impl DashboardsArgs {
    /// The subcommand's `--lake`.
    pub fn lake_mut(&mut self) -> &mut Option<String> {
        match &mut self.action {
            DashboardsAction::Sync(s) => &mut s.lake,
            DashboardsAction::Render(r) => &mut r.lake,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DashboardsAction {
    /// Put the dashboards of dashboards/*.json to CloudWatch, filled in for the lake's user pools.
    Sync(DashboardsSync),
    /// Write a self-contained HTML report with the KPI charts.
    Render(DashboardsRender),
}

#[derive(Debug, Args)]
pub struct DashboardsSync {
    /// Lake (its user pools fill in the dimensions) [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Directory of dashboard bodies [default: the built-in ones].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Dashboard name prefix.
    #[arg(long, default_value = "authlake-")]
    pub prefix: String,
    /// CloudWatch namespace of the metrics [default: Authlake].
    #[arg(long)]
    pub namespace: Option<String>,
}

#[derive(Debug, Args)]
pub struct DashboardsRender {
    /// Lake to report on [default: AUTHLAKE_LAKE, else `lake` in the config file].
    #[arg(long, env = "AUTHLAKE_LAKE")]
    pub lake: Option<String>,
    /// Output HTML file.
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
    /// Users in the legacy system (remaining users, projected completion).
    #[arg(long)]
    pub legacy_users: Option<u64>,
}

pub async fn run_dashboards(args: DashboardsArgs, config: &MetricsConfig) -> anyhow::Result<()> {
    match args.action {
        DashboardsAction::Sync(s) => {
            let lake = Lake::open(crate::cli::lake(&s.lake)?, false)?;
            let pools = authlake_kpi::lake_pools(&lake).await?;
            let namespace = s.namespace.or(config.namespace.clone()).unwrap_or_else(|| authlake_kpi::DEFAULT_NAMESPACE.into());
            let region = std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")).unwrap_or_else(|_| "us-east-1".into());
            let bodies = dash_sync::templates(s.dir.as_deref())?
                .into_iter()
                .map(|(n, t)| Ok((n.clone(), dash_sync::fill(&n, &t, &namespace, &region, &pools)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let cw = client(&ClientOptions::default()).await;
            let r = dash_sync::sync(&cw, &lake, &s.prefix, &bodies).await?;
            for (what, names) in [("created", &r.created), ("updated", &r.updated), ("unchanged", &r.unchanged), ("deleted", &r.deleted)] {
                for n in names {
                    println!("{what:<9} {n}");
                }
            }
            println!(
                "dashboards: {} created, {} updated, {} unchanged, {} deleted ({} user pools)",
                r.created.len(),
                r.updated.len(),
                r.unchanged.len(),
                r.deleted.len(),
                pools.len()
            );
        }
        DashboardsAction::Render(r) => {
            let lake = Lake::open(crate::cli::lake(&r.lake)?, false)?;
            write_report(&lake, &r.out, r.legacy_users.or(config.legacy_users)).await?;
            println!("wrote {}", r.out.display());
        }
    }
    Ok(())
}

/// Writes the HTML report of `lake` to `out`.
pub async fn write_report(lake: &Lake, out: &std::path::Path, legacy_users: Option<u64>) -> anyhow::Result<()> {
    let ctx = lake_context(lake).await?;
    let opts = report::ReportOptions { title: "authlake: Cognito sign-in security and migration".into(), legacy_users, now: Utc::now(), lake: lake.display() };
    let html = report::render_report(&ctx, &opts).await?;
    std::fs::write(out, html).with_context(|| format!("cannot write {}", out.display()))
}

