//! The embedded query engine: one DataFusion session behind a blocking API.
//!
//! Loading and aggregation run as SQL / DataFusion plans so that the same step can
//! later run unchanged on a distributed DataFusion (Ballista) cluster when event data
//! outgrows one machine. Callers stay synchronous; the engine owns its runtime.

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use std::future::Future;
use std::sync::Arc;

/// A DataFusion session and the runtime that drives it.
pub struct Engine {
    runtime: tokio::runtime::Runtime,
    ctx: SessionContext,
}

impl Engine {
    /// A session using every core of the machine.
    pub fn new() -> Result<Self, DataFusionError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let config = SessionConfig::new().with_information_schema(false);
        Ok(Self {
            runtime,
            ctx: SessionContext::new_with_config(config),
        })
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs a future of this session to completion.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Runs a query and returns its batches in order.
    pub fn sql(&self, query: &str) -> Result<Vec<RecordBatch>, DataFusionError> {
        self.block_on(async {
            let df = self.ctx.sql(query).await?;
            df.collect().await
        })
    }

    /// Collects a frame keeping the order of its rows (partition by partition).
    pub fn collect_ordered(&self, df: DataFrame) -> Result<Vec<RecordBatch>, DataFusionError> {
        self.block_on(async {
            let parts = df.collect_partitioned().await?;
            Ok(parts.into_iter().flatten().collect())
        })
    }

    /// Rewrites a CSV file as Parquet (zstd), typing columns by DataFusion's inference;
    /// the Parquet file appears whole or not at all (written beside it, then renamed).
    pub fn csv_to_parquet(
        &self,
        csv: &std::path::Path,
        parquet: &std::path::Path,
    ) -> Result<(), DataFusionError> {
        let external = |e: std::io::Error| DataFusionError::External(Box::new(e));
        let csv_path = csv.to_str().ok_or_else(|| {
            DataFusionError::Plan(format!("{} is not a UTF-8 path", csv.display()))
        })?;
        let dir = parquet
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".adroit-")
            .suffix(".parquet")
            .tempfile_in(dir)
            .map_err(external)?;
        let tmp_path = tmp
            .path()
            .to_str()
            .ok_or_else(|| DataFusionError::Plan("temporary path is not UTF-8".into()))?
            .to_string();
        let ext = csv
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| format!(".{e}"))
            .unwrap_or_default();
        self.block_on(async {
            let options = datafusion::prelude::CsvReadOptions::new()
                .has_header(true)
                .file_extension(&ext)
                .newlines_in_values(true);
            let df = self.ctx.read_csv(csv_path, options).await?;
            let write =
                datafusion::dataframe::DataFrameWriteOptions::new().with_single_file_output(true);
            df.write_parquet(&tmp_path, write, None).await
        })?;
        #[cfg(unix)]
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .map_err(external)?;
        tmp.persist(parquet).map_err(|e| external(e.error))?;
        Ok(())
    }

    /// Makes a batch queryable under `name`, replacing an earlier table of that name.
    pub fn register(&self, name: &str, batch: RecordBatch) -> Result<(), DataFusionError> {
        let _ = self.ctx.deregister_table(name)?;
        // Zero-copy slices, one per core, so scans of the table run in parallel.
        let rows = batch.num_rows();
        let schema = batch.schema();
        let parts = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = rows.div_ceil(parts).max(1);
        let mut partitions: Vec<Vec<RecordBatch>> = (0..rows)
            .step_by(chunk)
            .map(|start| vec![batch.slice(start, chunk.min(rows - start))])
            .collect();
        if partitions.is_empty() {
            partitions.push(vec![batch]); // an empty table keeps its schema
        }
        let table = MemTable::try_new(schema, partitions)?;
        self.ctx.register_table(name, Arc::new(table))?;
        Ok(())
    }
}
