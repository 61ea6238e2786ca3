//! The query session over a lake.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use authlake_core::schema::{dead_letters_schema, events_file_schema, events_table_schema, PARTITION_COLUMNS};
use authlake_lake::{AsOf, Lake, Location, TableKind};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::MemTable;
use datafusion::execution::cache::cache_manager::{CacheManagerConfig, CachedFileList};
use datafusion::execution::cache::TableScopedPath;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::common::TableReference;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};
use url::Url;

use crate::local_reads::InlineReads;

/// Why a query could not run.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("refused: queries are read-only ({0}); the lake's tables change only through authlake's commits, and --allow-writes allows only COPY (...) TO a path outside the lake")]
    ReadOnly(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("invalid lake url {0}: {1}")]
    Url(String, String),
    #[error(transparent)]
    Lake(#[from] crate::verify::VerifyError),
}

/// A session with `events` and `dead_letters` registered over `lake`,
/// once the lake's live files are checked against its commit log. Strings
/// are `Utf8View` (see [`view_schema`]): for queries and KPIs.
pub async fn lake_context(lake: &Lake) -> Result<SessionContext, QueryError> {
    Ok(context(lake, true, None).await?.0)
}

/// [`lake_context`] over the lake as of a version or a moment, with the
/// events version it reads (`None`: no table then).
pub async fn lake_context_at(lake: &Lake, at: Option<AsOf>, views: bool) -> Result<(SessionContext, Option<u64>), QueryError> {
    context(lake, views, at).await
}

/// [`lake_context`] with strings as the lake stores them (`Utf8`): for
/// what writes rows out (exports) or reads them back as plain strings.
pub async fn lake_context_utf8(lake: &Lake) -> Result<SessionContext, QueryError> {
    Ok(context(lake, false, None).await?.0)
}

async fn context(lake: &Lake, views: bool, at: Option<AsOf>) -> Result<(SessionContext, Option<u64>), QueryError> {
    let verified = crate::verify::verify_lake_at(lake, at).await?;
    let version = verified.version;
    let files = verified.files;
    let file_schema = match views {
        true => view_schema(&events_file_schema()),
        false => events_file_schema(),
    };
    let config = SessionConfig::new();
    // Scan streams: twice DataFusion's default (the cores). Measured, not
    // traced: over the 467 files of a 10M lake, with reads inline
    // (`local_reads`), medians of 15 turns 0.210 -> 0.194 s
    // (throttle_rate_daily) and 0.340 -> 0.307 s (mfa_completion_daily),
    // best times equal, same answers. (Its first reason, reads waiting on
    // tokio's blocking pool, is gone.)
    let streams = 2 * config.target_partitions();
    let config = config
        .with_target_partitions(streams)
        .with_information_schema(true)
        .set_bool("datafusion.execution.listing_table_ignore_subdirectory", true)
        .set_bool("datafusion.execution.parquet.pushdown_filters", true)
        .set_usize("datafusion.execution.parquet.metadata_size_hint", METADATA_SIZE_HINT)
        .set_bool("datafusion.execution.collect_statistics", false);
    // Room for the listing of every live file (about 200 bytes each, with
    // a margin): a listing over the limit is not kept, and DataFusion would
    // walk the lake itself.
    let listing_bytes = 1024 * 1024 + files.len() * 512;
    let runtime = RuntimeEnvBuilder::new()
        .with_cache_manager(CacheManagerConfig::default().with_list_files_cache_limit(listing_bytes))
        .build_arc()?;
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(crate::runs::RunAggregate))
        .with_physical_optimizer_rule(Arc::new(crate::keys::KeyAggregate::default()));
    // Files of an older column set are read through DataFusion's own
    // schema adapter, which fills the later columns with nulls.
    if !verified.older_schema {
        state = state.with_physical_optimizer_rule(Arc::new(crate::known_schema::KnownSchema { schema: file_schema.clone() }));
    }
    let state = state.build();
    // The table's Parquet options come from the session (a bare
    // `ParquetFormat::default()` ignores them and reads 512 KiB per footer).
    let parquet = Arc::new(ParquetFormat::default().with_options(state.table_options().parquet.clone()));
    let ctx = SessionContext::new_with_state(state);
    ctx.register_udf(crate::coalesce::Coalesce::udf());
    let base = lake.url();
    let url = Url::parse(&base).map_err(|e| QueryError::Url(base.clone(), e.to_string()))?;
    let local = ObjectStoreUrl::local_filesystem();
    // Local files are read on the query's threads (see `local_reads`).
    let (store_url, store): (&Url, Arc<dyn ObjectStore>) = match &lake.location {
        Location::S3 { .. } => (&url, lake.root_store.clone()),
        Location::Local(_) => (local.as_ref(), Arc::new(InlineReads::default())),
    };
    ctx.register_object_store(store_url, store);

    // events: the snapshot's files under the root, with their Hive
    // partitions; dead_letters: the snapshot's files of its own table.
    // Both listings are put in DataFusion's cache, so it never walks the
    // directories (which hold files no commit added yet).
    let dead_dir = format!("{}/", TableKind::DeadLetters.dir());
    let (dead, events): (Vec<ObjectMeta>, Vec<ObjectMeta>) = files.into_iter().partition(|m| m.location.as_ref().starts_with(&dead_dir));
    let events_url = ListingTableUrl::parse(&base)?.with_table_ref(TableReference::bare("events"));
    list_committed(&ctx, &events_url, events);
    let options = ListingOptions::new(parquet.clone())
        .with_file_extension(".parquet")
        .with_table_partition_cols(partition_columns());
    let config = ListingTableConfig::new(events_url).with_listing_options(options).with_schema(file_schema);
    ctx.register_table("events", Arc::new(ListingTable::try_new(config)?))?;

    if dead.is_empty() {
        let empty = MemTable::try_new(dead_letters_schema(), vec![vec![]])?;
        ctx.register_table("dead_letters", Arc::new(empty))?;
    } else {
        let dl_url = ListingTableUrl::parse(format!("{base}{dead_dir}"))?.with_table_ref(TableReference::bare("dead_letters"));
        let relative = dead
            .into_iter()
            .map(|m| ObjectMeta { location: Path::from(TableKind::DeadLetters.relative(m.location.as_ref())), ..m })
            .collect();
        list_committed(&ctx, &dl_url, relative);
        let dl_options = ListingOptions::new(parquet).with_file_extension(".parquet");
        let cfg = ListingTableConfig::new(dl_url).with_listing_options(dl_options).with_schema(dead_letters_schema());
        ctx.register_table("dead_letters", Arc::new(ListingTable::try_new(cfg)?))?;
    }
    crate::side_tables::register(&ctx, lake).await?;
    Ok((ctx, version))
}

/// The partition columns of `events` and their types, as the table
/// schema declares them.
fn partition_columns() -> Vec<(String, DataType)> {
    let table = events_table_schema();
    PARTITION_COLUMNS
        .iter()
        .map(|name| {
            let field = table.field_with_name(name).expect("partition columns are in the table schema");
            (field.name().clone(), field.data_type().clone())
        })
        .collect()
}

/// Lake files carry footers of about 7 KiB (one row group, 34 columns);
/// the default hint (512 KiB) reads, and zeroes a buffer for, most of each
/// file just to plan, and 64 KiB still copied nine times the footer.
const METADATA_SIZE_HINT: usize = 16 * 1024;

/// Hands DataFusion the verified live files as the listing of `events`:
/// queries read exactly what the commit log holds (no file a crash left
/// behind uncommitted), and the lake is not walked a second time.
fn list_committed(ctx: &SessionContext, url: &ListingTableUrl, files: Vec<ObjectMeta>) {
    let Some(cache) = ctx.runtime_env().cache_manager.get_list_files_cache() else { return };
    let root = url.prefix();
    let files = files
        .into_iter()
        .map(|m| ObjectMeta { location: root.parts().chain(m.location.parts()).collect::<Path>(), ..m })
        .collect();
    let key = TableScopedPath { table: url.get_table_ref().clone(), path: root.clone() };
    cache.put(&key, CachedFileList::new(files));
}

/// Runs one read-only SQL statement and collects the result: DDL (CREATE
/// EXTERNAL TABLE on other paths, ...), DML (INSERT, COPY ... TO) and
/// statements (SET, ...) are refused, so a query can neither write nor
/// reach outside the lake.
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>), QueryError> {
    run_sql_with(ctx, sql, crate::writes::Writes::Refused).await
}

/// [`run_sql`], with the writes `writes` allows ([`crate::writes`]).
pub async fn run_sql_with(
    ctx: &SessionContext,
    sql: &str,
    writes: crate::writes::Writes<'_>,
) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>), QueryError> {
    let options = crate::writes::options(sql, writes)?;
    let df = ctx.sql_with_options(sql, options).await.map_err(|e| match e {
        datafusion::error::DataFusionError::Plan(m) if m.contains("not supported") || m.contains("Only") => {
            QueryError::ReadOnly(m)
        }
        other => QueryError::DataFusion(other),
    })?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    Ok((schema, batches))
}

/// The table schema with strings as `Utf8View`: DataFusion reads Parquet
/// strings as views (no copy of short values) and, with a `Utf8` table
/// schema, would cast every string column back, copying all of it.
fn view_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}
