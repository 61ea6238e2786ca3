//! The `events` files' Arrow schema, handed to the Parquet reader.
//!
//! Every `events` file is written by authlake with one schema. Left alone,
//! DataFusion's Parquet opener decodes each file's embedded `ARROW:schema`
//! (base64, then flatbuffers), converts the Parquet schema with it, finds
//! that strings are to be read as views, and converts it all a second
//! time: a fifth of a query that opens the 472 files of a 10M-event lake.
//! [`KnownSchema`] gives each file of an `events` scan the table's file
//! schema, which the reader takes as it is (DataFusion's documented
//! `PartitionedFile::arrow_schema`). A file whose columns differed would
//! fail to open with a message naming the mismatch, not be read wrongly.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Result;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

/// The physical optimizer rule; see the module doc.
#[derive(Debug)]
pub struct KnownSchema {
    /// The `events` file schema as the table reads it (strings as views).
    pub schema: SchemaRef,
}

impl PhysicalOptimizerRule for KnownSchema {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(config) = node
                .downcast_ref::<DataSourceExec>()
                .and_then(|scan| scan.data_source().downcast_ref::<FileScanConfig>())
                .filter(|c| c.file_source().file_type() == "parquet" && c.file_schema() == &self.schema)
            else {
                return Ok(Transformed::no(node));
            };
            let mut config = config.clone();
            config.file_groups = config
                .file_groups
                .iter()
                .map(|group| {
                    FileGroup::new(group.iter().map(|f| f.clone().with_arrow_schema(Arc::clone(&self.schema))).collect())
                })
                .collect();
            Ok(Transformed::yes(DataSourceExec::from_data_source(config) as Arc<dyn ExecutionPlan>))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "authlake_known_schema"
    }

    fn schema_check(&self) -> bool {
        true
    }
}
