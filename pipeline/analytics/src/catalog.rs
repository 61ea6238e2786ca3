//! `authlake catalog`: DDL that lets Athena, Glue, Spark, Trino or DuckDB
//! read the lake's Delta tables, so a distributed engine can take over
//! when one machine is not enough. Engines that read Delta are pointed at
//! each table's location and read its log themselves; for DuckDB without
//! its `delta` extension, a view over the snapshot's explicit file list
//! (a glob of the partition directories would also read files no commit
//! added, and files removed but not yet vacuumed).

use arrow::datatypes::DataType;
use authlake_core::schema::PARTITION_COLUMNS;
use authlake_lake::TableKind;
use serde_json::json;

/// Engines `catalog` writes DDL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Athena,
    Glue,
    Spark,
    Trino,
    /// DuckDB's `delta` extension (`delta_scan`).
    DuckDb,
    /// DuckDB without the extension: views over the snapshot's files.
    DuckDbFiles,
}

/// One table to declare.
#[derive(Debug, Clone)]
pub struct Table {
    pub kind: TableKind,
    /// The name to give it (`authlake_events`, ...).
    pub name: String,
    /// Its location, ending in `/` (`s3://bucket/lake/_authlake/tables/dead_letters/`).
    pub url: String,
    /// Its snapshot's data files as URLs (only for [`Engine::DuckDbFiles`]).
    pub files: Vec<String>,
}

fn hive_type(t: &DataType) -> &'static str {
    match t {
        DataType::Boolean => "boolean",
        DataType::Int64 => "bigint",
        DataType::Timestamp(..) => "timestamp",
        DataType::Date32 => "date",
        _ => "string",
    }
}

/// The DDL for `engine` over `tables`.
pub fn ddl(engine: Engine, tables: &[Table]) -> String {
    let mut out = match engine {
        Engine::Athena => "-- Athena reads each Delta log itself: columns and partitions come from it.\n".to_string(),
        Engine::Glue => "# One `aws glue create-table --database-name authlake --table-input file://T.json` per table below.\n".to_string(),
        Engine::Spark => "-- Spark or Databricks with Delta Lake (delta-spark).\n".to_string(),
        Engine::Trino => "-- Trino's Delta Lake connector, in a catalog named `delta` (connector.name=delta_lake) with a schema `authlake`.\n".to_string(),
        Engine::DuckDb => "INSTALL delta;\nLOAD delta;\n".to_string(),
        Engine::DuckDbFiles => "-- Views over the snapshots' files at the time of this DDL: run `authlake catalog duckdb-files` again after ingests.\n".to_string(),
    };
    let s3 = tables.iter().any(|t| t.url.starts_with("s3://"));
    if s3 && matches!(engine, Engine::DuckDb | Engine::DuckDbFiles) {
        out.push_str("INSTALL httpfs;\nLOAD httpfs;\nCREATE OR REPLACE SECRET authlake (TYPE s3, PROVIDER credential_chain);\n");
    }
    for t in tables {
        out.push_str(&one(engine, t));
    }
    out
}

fn one(engine: Engine, t: &Table) -> String {
    let (name, url) = (&t.name, &t.url);
    match engine {
        Engine::Athena => format!("CREATE EXTERNAL TABLE IF NOT EXISTS `{name}`\nLOCATION '{url}'\nTBLPROPERTIES ('table_type' = 'DELTA');\n"),
        Engine::Glue => {
            let cols: Vec<_> = t.kind.file_schema().fields().iter().map(|f| json!({"Name": f.name(), "Type": hive_type(f.data_type())})).collect();
            let partitions: Vec<_> = match t.kind {
                TableKind::Events => PARTITION_COLUMNS.iter().zip(["string", "date"]).map(|(n, ty)| json!({"Name": n, "Type": ty})).collect(),
                _ => Vec::new(),
            };
            let input = json!({
                "Name": name,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"table_type": "DELTA", "spark.sql.sources.provider": "delta", "EXTERNAL": "TRUE"},
                "PartitionKeys": partitions,
                "StorageDescriptor": {"Columns": cols, "Location": url}
            });
            format!("# {name}.json\n{}\n", serde_json::to_string_pretty(&input).expect("JSON"))
        }
        Engine::Spark => format!("CREATE TABLE IF NOT EXISTS {name}\nUSING DELTA\nLOCATION '{}';\n", url.replacen("s3://", "s3a://", 1)),
        Engine::Trino => format!("CALL delta.system.register_table(schema_name => 'authlake', table_name => '{name}', table_location => '{url}');\n"),
        Engine::DuckDb => format!("CREATE OR REPLACE VIEW {name} AS SELECT * FROM delta_scan('{}');\n", url.trim_end_matches('/')),
        Engine::DuckDbFiles => {
            let list: Vec<String> = t.files.iter().map(|f| format!("'{}'", f.strip_prefix("file://").unwrap_or(f).replace('\'', "''"))).collect();
            if list.is_empty() {
                let cols: Vec<String> = t.kind.file_schema().fields().iter().map(|f| format!("NULL AS {}", f.name())).collect();
                return format!("-- {name}: no committed files yet.\nCREATE OR REPLACE VIEW {name} AS SELECT {} WHERE false;\n", cols.join(", "));
            }
            let hive = match t.kind {
                TableKind::Events => ",\n    hive_partitioning = true, hive_types = {'category': VARCHAR, 'event_date': DATE}",
                _ => ", hive_partitioning = false",
            };
            format!("CREATE OR REPLACE VIEW {name} AS\n  SELECT * FROM read_parquet([{}]{hive});\n", list.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(base: &str) -> Vec<Table> {
        TableKind::ALL
            .iter()
            .map(|k| Table {
                kind: *k,
                name: format!("authlake_{}", k.name()),
                url: match k.dir() {
                    "" => base.to_string(),
                    d => format!("{base}{d}/"),
                },
                files: vec![],
            })
            .collect()
    }

    #[test]
    fn every_engine_is_pointed_at_every_table() {
        let t = tables("s3://b/lake/");
        let athena = ddl(Engine::Athena, &t);
        assert!(athena.contains("`authlake_events`\nLOCATION 's3://b/lake/'") && athena.contains("'table_type' = 'DELTA'"));
        assert!(athena.contains("LOCATION 's3://b/lake/_authlake/tables/dead_letters/'"), "{athena}");
        assert!(ddl(Engine::Spark, &t).contains("USING DELTA\nLOCATION 's3a://b/lake/'"));
        let trino = ddl(Engine::Trino, &t);
        assert!(trino.contains("table_name => 'authlake_erasures', table_location => 's3://b/lake/_authlake/tables/erasures/'"), "{trino}");
        let glue = ddl(Engine::Glue, &t);
        assert!(glue.contains("\"table_type\": \"DELTA\"") && glue.contains("\"Name\": \"event_date\""), "{glue}");
        let duck = ddl(Engine::DuckDb, &t);
        assert!(duck.starts_with("INSTALL delta;") && duck.contains("delta_scan('s3://b/lake')") && duck.contains("CREATE OR REPLACE SECRET"), "{duck}");
        let mut local = tables("file:///l/");
        local[0].files = vec!["file:///l/category=auth/event_date=2026-11-27/part-1.parquet".into()];
        let files = ddl(Engine::DuckDbFiles, &local);
        assert!(files.contains("read_parquet(['/l/category=auth/event_date=2026-11-27/part-1.parquet']"), "{files}");
        assert!(files.contains("CREATE OR REPLACE VIEW authlake_dead_letters AS SELECT NULL AS source"), "{files}");
    }
}
