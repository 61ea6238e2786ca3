//! `authlake catalog`: DDL that lets Athena, Glue, Spark or DuckDB query
//! the lake's files directly, so a distributed engine can take over when
//! one machine is not enough.

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
/// `file:///dir/`), naming the table `table`.
pub fn ddl(engine: Engine, url: &str, table: &str) -> String {
    let url = if url.ends_with('/') { url.to_string() } else { format!("{url}/") };
    let cols = columns();
    match engine {
        Engine::Athena => {
            let body: Vec<String> = cols.iter().map(|(n, t)| format!("  `{n}` {t}")).collect();
            format!(
                "-- Athena: partition projection, no crawler or MSCK needed.\nCREATE EXTERNAL TABLE IF NOT EXISTS `{table}` (\n{}\n)\nPARTITIONED BY (`category` string, `event_date` string)\nSTORED AS PARQUET\nLOCATION '{url}'\nTBLPROPERTIES (\n  'parquet.compression' = 'ZSTD',\n  'projection.enabled' = 'true',\n  'projection.category.type' = 'enum',\n  'projection.category.values' = '{}',\n  'projection.event_date.type' = 'date',\n  'projection.event_date.format' = 'yyyy-MM-dd',\n  'projection.event_date.range' = '2015-01-01,NOW',\n  'projection.event_date.interval' = '1',\n  'projection.event_date.interval.unit' = 'DAYS',\n  'storage.location.template' = '{url}category=${{category}}/event_date=${{event_date}}/'\n);\n",
                body.join(",\n"),
                CATEGORIES.join(",")
            )
        }
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
            let body: Vec<String> = cols.iter().map(|(n, t)| format!("  `{n}` {}", t.to_uppercase())).collect();
            let loc = url.replacen("s3://", "s3a://", 1);
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (\n{},\n  `category` STRING,\n  `event_date` DATE\n)\nUSING PARQUET\nPARTITIONED BY (category, event_date)\nLOCATION '{loc}';\nMSCK REPAIR TABLE {table};\n",
                body.join(",\n")
            )
        }
        Engine::DuckDb => {
            let path = url.strip_prefix("file://").unwrap_or(&url);
            let s3 = if url.starts_with("s3://") {
                "INSTALL httpfs; LOAD httpfs;\nCREATE OR REPLACE SECRET authlake (TYPE s3, PROVIDER credential_chain);\n"
            } else {
                ""
            };
            format!(
                "{s3}CREATE OR REPLACE VIEW {table} AS\n  SELECT * FROM read_parquet('{path}category=*/event_date=*/*.parquet',\n    hive_partitioning = true, hive_types = {{'category': VARCHAR, 'event_date': DATE}});\n"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn athena_ddl_projects_both_partitions() {
        let d = ddl(Engine::Athena, "s3://b/lake", "events");
        assert!(d.contains("LOCATION 's3://b/lake/'"));
        assert!(d.contains("'projection.category.values' = 'auth,account,migration,federation,token,identity,admin,other'"));
        assert!(d.contains("`mfa_passed` boolean") && d.contains("`event_time` timestamp"));
        assert!(ddl(Engine::Spark, "s3://b/lake", "events").contains("LOCATION 's3a://b/lake/'"));
    }
}
