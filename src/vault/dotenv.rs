//! Temporary stub; replaced by the real parser.
pub struct Entry { pub key: String, pub value: String, pub line: usize }
#[derive(Debug, thiserror::Error)]
pub enum DotenvError {
    #[error("line {line}: {reason}")]
    BadLine { line: usize, reason: String },
    #[error("secret `{key}` cannot be written as a .env value")]
    Unrepresentable { key: String },
}
pub fn parse(src: &str) -> Result<Vec<Entry>, DotenvError> {
    Ok(src.lines().enumerate().filter_map(|(i, l)| l.split_once('=').map(|(k, v)| Entry { key: k.into(), value: v.into(), line: i + 1 })).collect())
}
pub fn dedup_last_wins(entries: Vec<Entry>) -> Vec<Entry> { entries }
pub fn encode_line(key: &str, value: &str) -> Result<String, DotenvError> { Ok(format!("{key}='{value}'")) }
