//! The decode+encode path alone, for `benches/run.py`: NDJSON records of one table (as the
//! API sent them, one per line) in pages of `page` lines → `BatchDecoder` → `SnapshotWriter`
//! (zstd Parquet) in a local folder. Run as its own process under `/usr/bin/time`, beside
//! DuckDB's `read_json` → Parquet on the same file. Prints one JSON line: rows, bytes in,
//! files and bytes out.
//!
//! `decode_file <table> <in.ndjson> <out-dir> [page]`

use std::io::BufRead;
use std::path::PathBuf;

use bytes::Bytes;
use jclake::decode::{BatchDecoder, SchemaPolicy};
use jclake::model::RawPage;
use jclake::sink::{Lake, LakeLocation, S3Options, SnapshotWriter, WriteOptions};

fn fail(msg: String) -> ! {
    eprintln!("decode_file: {msg}");
    std::process::exit(2)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [table, input, out, rest @ ..] = args.as_slice() else {
        fail("usage: decode_file <table> <in.ndjson> <out-dir> [page]".into())
    };
    let page: usize = rest
        .first()
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| fail(format!("bad page size {p}")))
        })
        .unwrap_or(10_000);
    let resource =
        jclake::catalog::find(table).unwrap_or_else(|| fail(format!("no table {table}")));
    let schema = resource
        .schema()
        .unwrap_or_else(|e| fail(e.to_string()))
        .as_ref()
        .clone();
    let lake = Lake::open(
        &LakeLocation::Local(PathBuf::from(out)),
        &S3Options::default(),
    )
    .unwrap_or_else(|e| fail(e.to_string()));
    let mut decoder = BatchDecoder::with_policy(schema, SchemaPolicy::Evolve, "bench")
        .unwrap_or_else(|e| fail(e.to_string()));
    let mut writer = SnapshotWriter::new(
        &lake,
        decoder.arrow_schema(),
        &WriteOptions::default(),
        vec!["staging".into()],
        vec![table.clone()],
    );
    let file = std::fs::File::open(input).unwrap_or_else(|e| fail(format!("{input}: {e}")));
    let mut lines = std::io::BufReader::with_capacity(1 << 20, file).split(b'\n');
    let (mut rows, mut bytes_in) = (0u64, 0u64);
    loop {
        let mut body = Vec::new();
        let mut spans = Vec::with_capacity(page);
        for line in lines.by_ref().take(page) {
            let line = line.unwrap_or_else(|e| fail(format!("{input}: {e}")));
            let start = body.len();
            body.extend_from_slice(&line);
            spans.push(start..body.len());
        }
        if spans.is_empty() {
            break;
        }
        bytes_in += body.len() as u64;
        let records = RawPage::new(Bytes::from(body), spans);
        rows += records.len() as u64;
        let batches = decoder
            .decode(&records, None)
            .unwrap_or_else(|e| fail(e.to_string()));
        for b in batches {
            writer
                .write(&b)
                .await
                .unwrap_or_else(|e| fail(e.to_string()));
        }
    }
    let files = writer
        .finish()
        .await
        .unwrap_or_else(|e| fail(e.to_string()));
    println!(
        "{}",
        serde_json::json!({
            "rows": rows,
            "bytes_in": bytes_in,
            "files": files.len(),
            "bytes_out": files.iter().map(|f| f.bytes).sum::<u64>(),
        })
    );
}
