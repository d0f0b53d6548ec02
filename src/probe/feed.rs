//! PLACEHOLDER replaced by the feed reader.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRead {
    pub format: String,
    pub entries: usize,
    pub latest_post_at: Option<DateTime<Utc>>,
    pub undated: usize,
}

/// One poll of an account's feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPoll {
    pub url: String,
    #[serde(flatten)]
    pub result: FeedResult,
}

/// What the poll found: the feed, or why it could not be read (a failure
/// to measure, never a fact about the account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum FeedResult {
    Read(FeedRead),
    Failed { reason: String },
}

/// Stands in for the reader until it lands.
pub fn read(_body: &[u8], _content_type: Option<&str>) -> Result<FeedRead, String> {
    Err("not yet".into())
}
