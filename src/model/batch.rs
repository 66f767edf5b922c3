//! Arrow batches in a table's schema: the one place that widens a batch to a later, wider
//! schema of its table, so a file holds exactly one schema (the Parquet writer relies on
//! it), and that relabels `UTC` timestamps for arrow-json (the previous decoder and the
//! tests' JSON view of a batch).

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, ListArray, StructArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// The schema with every `UTC` timestamp spelled `+00:00`, which arrow-json can build a
/// decoder for without the time-zone database.
pub fn offset_utc(schema: &Schema) -> Schema {
    fn ty(t: &DataType) -> DataType {
        match t {
            DataType::Timestamp(u, Some(_)) => DataType::Timestamp(*u, Some("+00:00".into())),
            DataType::Struct(fs) => {
                DataType::Struct(fs.iter().map(|f| field(f)).collect::<Vec<_>>().into())
            }
            DataType::List(f) => DataType::List(Arc::new(field(f))),
            other => other.clone(),
        }
    }
    fn field(f: &Field) -> Field {
        f.clone().with_data_type(ty(f.data_type()))
    }
    Schema::new_with_metadata(
        schema.fields().iter().map(|f| field(f)).collect::<Vec<_>>(),
        schema.metadata().clone(),
    )
}

/// `batch` in a wider schema: missing columns and struct fields as nulls, `+00:00`
/// timestamps relabelled `UTC`. Every batch of a file goes through this, so a file holds
/// one schema even when the table widened while it was being written.
pub fn conform(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns = target
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => conform_array(c, f.data_type()),
            None => Ok(new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(target.clone(), columns)
}

fn conform_array(a: &ArrayRef, to: &DataType) -> Result<ArrayRef, ArrowError> {
    if a.data_type() == to {
        return Ok(a.clone());
    }
    match (a.data_type(), to) {
        (DataType::Struct(_), DataType::Struct(fields)) => {
            let s = a.as_struct();
            let children = fields
                .iter()
                .map(|f| match s.column_by_name(f.name()) {
                    Some(c) => conform_array(c, f.data_type()),
                    None => Ok(new_null_array(f.data_type(), s.len())),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Arc::new(StructArray::try_new(
                fields.clone(),
                children,
                s.nulls().cloned(),
            )?))
        }
        (DataType::List(_), DataType::List(field)) => {
            let l = a.as_list::<i32>();
            let values = conform_array(l.values(), field.data_type())?;
            Ok(Arc::new(ListArray::try_new(
                field.clone(),
                l.offsets().clone(),
                values,
                l.nulls().cloned(),
            )?))
        }
        _ => cast(a, to),
    }
}
