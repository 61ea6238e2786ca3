//! `authlake catalog`: DDL that lets Athena, Glue, Spark or DuckDB query
//! the lake's events table, so a distributed engine can take over when
//! one machine is not enough. The table is a Delta table: engines that
//! read Delta are pointed at it; DuckDB without its delta extension gets
//! a view over the snapshot's explicit file list (a glob of the partition
//! directories would also read files no commit added).

use arrow::datatypes::DataType;
use authlake_core::event::CATEGORIES;
use authlake_core::schema::events_file_schema;
use serde_json::json;

/// Engines `catalog` writes DDL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Athena,
    Glue,
    Spark,
    DuckDb,
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

fn columns() -> Vec<(String, &'static str)> {
    events_file_schema().fields().iter().map(|f| (f.name().clone(), hive_type(f.data_type()))).collect()
}

/// The DDL for `engine` over the lake at `url` (`s3://bucket/prefix/` or
/// `file:///dir/`), naming the table `table`; `files` are the snapshot's
/// data files as URLs (for DuckDB's view).
pub fn ddl(engine: Engine, url: &str, table: &str, files: &[String]) -> String {
    let url = if url.ends_with('/') { url.to_string() } else { format!("{url}/") };
    let cols = columns();
    match engine {
        Engine::Athena => format!(
            "-- Athena reads the Delta log itself: columns and partitions come from it.\nCREATE EXTERNAL TABLE IF NOT EXISTS `{table}`\nLOCATION '{url}'\nTBLPROPERTIES ('table_type' = 'DELTA');\n"
        ),
        Engine::Glue => {
            let glue_cols: Vec<_> = cols.iter().map(|(n, t)| json!({"Name": n, "Type": t})).collect();
            let input = json!({
                "Name": table,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {
                    "classification": "parquet", "EXTERNAL": "TRUE",
                    "projection.enabled": "true",
                    "projection.category.type": "enum", "projection.category.values": CATEGORIES.join(","),
                    "projection.event_date.type": "date", "projection.event_date.format": "yyyy-MM-dd",
                    "projection.event_date.range": "2015-01-01,NOW", "projection.event_date.interval": "1",
                    "projection.event_date.interval.unit": "DAYS",
                    "storage.location.template": format!("{url}category=${{category}}/event_date=${{event_date}}/")
                },
                "PartitionKeys": [{"Name": "category", "Type": "string"}, {"Name": "event_date", "Type": "string"}],
                "StorageDescriptor": {
                    "Columns": glue_cols,
                    "Location": url,
                    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}
                }
            });
            format!(
                "# aws glue create-table --database-name authlake --table-input file://table.json\n{}\n",
                serde_json::to_string_pretty(&input).expect("JSON")
            )
        }
        Engine::Spark => {
            let loc = url.replacen("s3://", "s3a://", 1);
            format!("CREATE TABLE IF NOT EXISTS {table}\nUSING DELTA\nLOCATION '{loc}';\n")
        }
        Engine::DuckDb => {
            let s3 = if url.starts_with("s3://") {
                "INSTALL httpfs; LOAD httpfs;\nCREATE OR REPLACE SECRET authlake (TYPE s3, PROVIDER credential_chain);\n"
            } else {
                ""
            };
            let list: Vec<String> = files.iter().map(|f| format!("'{}'", f.strip_prefix("file://").unwrap_or(f).replace('\'', "''"))).collect();
            if list.is_empty() {
                return format!("-- The lake has no committed files yet.\n{s3}CREATE OR REPLACE VIEW {table} AS SELECT NULL AS event_id WHERE false;\n");
            }
            format!(
                "-- The snapshot's files at the time of this DDL: run `authlake catalog duckdb` again after ingests.\n{s3}CREATE OR REPLACE VIEW {table} AS\n  SELECT * FROM read_parquet([{}],\n    hive_partitioning = true, hive_types = {{'category': VARCHAR, 'event_date': DATE}});\n",
                list.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn athena_ddl_projects_both_partitions() {
        let d = ddl(Engine::Athena, "s3://b/lake", "events", &[]);
        assert!(d.contains("LOCATION 's3://b/lake/'") && d.contains("'table_type' = 'DELTA'"));
        assert!(ddl(Engine::Spark, "s3://b/lake", "events", &[]).contains("USING DELTA\nLOCATION 's3a://b/lake/'"));
        let g = ddl(Engine::Glue, "s3://b/lake", "events", &[]);
        assert!(g.contains("auth,account,migration,federation,token,identity,admin,other"));
        let duck = ddl(Engine::DuckDb, "file:///l/", "ev", &["file:///l/category=auth/event_date=2026-11-27/part-1.parquet".into()]);
        assert!(duck.contains("read_parquet(['/l/category=auth/event_date=2026-11-27/part-1.parquet']"), "{duck}");
    }
}
