//! `RawPage`: the records of one API answer as the bytes they came in, never copied. The
//! source finds each record's span while it checks the answer is JSON; the decoder parses
//! the spans, a record at a time, straight into column builders. A page holds its body and
//! two integers per record, nothing more.

use std::ops::Range;

use bytes::Bytes;

/// One page of JSON records: a response body and where each record lies in it.
#[derive(Debug, Clone, Default)]
pub struct RawPage {
    body: Bytes,
    spans: Vec<(u32, u32)>,
}

impl RawPage {
    /// A page of `body`, whose records are at `spans` (checked to lie inside it; a page is
    /// far below the 4 GiB a span can address).
    pub fn new(body: Bytes, spans: Vec<Range<usize>>) -> RawPage {
        let len = body.len();
        let spans = spans
            .into_iter()
            .filter(|r| r.start <= r.end && r.end <= len && r.end <= u32::MAX as usize)
            .map(|r| (r.start as u32, r.end as u32))
            .collect();
        RawPage { body, spans }
    }

    /// A page of values serialised once (tests, benchmarks, and callers that built records).
    pub fn from_values(records: &[serde_json::Value]) -> RawPage {
        let mut body = Vec::new();
        let mut spans = Vec::with_capacity(records.len());
        for r in records {
            let start = body.len();
            // Writing a `Value` into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut body, r);
            spans.push(start..body.len());
        }
        RawPage::new(Bytes::from(body), spans)
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The JSON text of record `i`.
    pub fn record(&self, i: usize) -> &[u8] {
        let (a, b) = self.spans[i];
        &self.body[a as usize..b as usize]
    }

    pub fn records(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.spans
            .iter()
            .map(|&(a, b)| &self.body[a as usize..b as usize])
    }

    /// Keeps only the records `keep` says yes to (the body stays as it is).
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let body = &self.body;
        self.spans
            .retain(|&(a, b)| keep(&body[a as usize..b as usize]));
    }

    /// Bytes held: the body and the spans.
    pub fn bytes_held(&self) -> usize {
        self.body.len() + self.spans.len() * 8
    }
}
