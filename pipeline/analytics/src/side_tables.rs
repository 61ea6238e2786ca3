//! Side tables in the query session, opened only when a query reads them:
//! `findings` (every revision) and the view `findings_latest` (the last
//! revision of each finding). A query that does not name them pays
//! nothing for them. They are read at their latest version (`--as-of`
//! applies to `events` and `dead_letters`).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use authlake_core::schema::findings_schema;
use authlake_lake::{Lake, TableKind};
use datafusion::catalog::Session;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

/// A side table whose live files are listed from its Delta log at scan time.
#[derive(Debug)]
struct SideTable {
    lake: Lake,
    kind: TableKind,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for SideTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(&self, state: &dyn Session, projection: Option<&Vec<usize>>, filters: &[Expr], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let paths = authlake_lake::append::live_paths(&self.lake, self.kind).await.map_err(|e| DataFusionError::External(Box::new(e)))?;
        let paths = paths.unwrap_or_default();
        if paths.is_empty() {
            let schema = datafusion::physical_plan::project_schema(&self.schema, projection)?;
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        // One URL per committed file: the directory (which may hold files
        // no commit added) is never listed.
        let base = self.lake.url();
        let urls = paths.iter().map(|p| ListingTableUrl::parse(format!("{base}{p}"))).collect::<Result<Vec<_>>>()?;
        let parquet = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let options = ListingOptions::new(Arc::new(parquet)).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(self.schema.clone());
        ListingTable::try_new(config)?.scan(state, projection, filters, limit).await
    }
}

/// Registers `findings` and `findings_latest` in `ctx`.
pub async fn register(ctx: &SessionContext, lake: &Lake) -> Result<()> {
    let findings = SideTable { lake: lake.clone(), kind: TableKind::Findings, schema: findings_schema() };
    ctx.register_table("findings", Arc::new(findings))?;
    ctx.sql(
        "CREATE VIEW findings_latest AS SELECT * EXCLUDE (rn) FROM \
         (SELECT *, ROW_NUMBER() OVER (PARTITION BY finding_id ORDER BY revision DESC) AS rn FROM findings) WHERE rn = 1",
    )
    .await?;
    Ok(())
}
