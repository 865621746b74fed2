//! The table's model: display-ready rows, made once per load, and the list of rows the
//! filter lets through. Drawing then only touches the rows on screen, which is what
//! keeps a 100,000-row table fast.

use crate::vault::{SecretInfo, SecretType};

use super::text;

/// One secret as the table shows it. Never holds a value. Dates and ages are
/// formatted when drawn (only the rows on screen), which keeps 100,000 rows small.
#[derive(Debug, Clone)]
pub struct RowData {
    /// The key as stored: what edit and delete pass to the vault.
    pub key: String,
    /// The key made printable, when it differs from `key`.
    key_printable: Option<String>,
    /// The first line of the description, made printable for drawing.
    pub description: String,
    /// The description as stored, when it differs from `description`.
    description_stored: Option<String>,
    pub kind: SecretType,
    pub created: i64,
    /// Last change of the value: the rotation hint.
    pub value_changed: i64,
    /// Lowercased key and description, searched by the filter.
    haystack: String,
}

impl RowData {
    pub fn new(info: &SecretInfo) -> RowData {
        let printable_key = text::printable(&info.key);
        // Only the first line of a multi-line description fits in a row.
        let first = info.description.lines().next().unwrap_or("");
        let description = text::printable(first);
        let mut haystack = String::with_capacity(info.key.len() + info.description.len() + 1);
        haystack.push_str(&printable_key.to_lowercase());
        haystack.push('\n');
        haystack.push_str(&info.description.to_lowercase());
        RowData {
            key_printable: (printable_key != info.key).then_some(printable_key),
            key: info.key.clone(),
            description_stored: (description != info.description).then(|| info.description.clone()),
            description,
            kind: info.kind,
            created: info.created,
            value_changed: info.value_changed,
            haystack,
        }
    }

    /// The key as drawn: control characters replaced.
    pub fn key_shown(&self) -> &str {
        self.key_printable.as_deref().unwrap_or(&self.key)
    }

    /// The description as stored: what the edit form starts from.
    pub fn description_raw(&self) -> &str {
        self.description_stored
            .as_deref()
            .unwrap_or(&self.description)
    }

    /// Case-insensitive match on key or description; `needle` is already lowercase.
    pub fn matches(&self, needle: &str) -> bool {
        needle.is_empty() || self.haystack.contains(needle)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Key,
    Type,
    Created,
}

impl SortKey {
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Key => SortKey::Type,
            SortKey::Type => SortKey::Created,
            SortKey::Created => SortKey::Key,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Key => "Key",
            SortKey::Type => "Type",
            SortKey::Created => "Created",
        }
    }
}

pub fn sort(rows: &mut [RowData], by: SortKey) {
    match by {
        SortKey::Key => rows.sort_by(|a, b| a.key.cmp(&b.key)),
        SortKey::Type => rows.sort_by(|a, b| {
            a.kind
                .label()
                .cmp(b.kind.label())
                .then_with(|| a.key.cmp(&b.key))
        }),
        // Newest first: what was just added is what one looks for.
        SortKey::Created => {
            rows.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.key.cmp(&b.key)))
        }
    }
}

/// Indices of the rows the filter lets through, in display order.
/// The first row of a window of `page` rows that shows `selected`, moved as little as
/// possible from `offset` (the window scrolls only when the selection leaves it).
pub fn window_start(offset: usize, selected: usize, len: usize, page: usize) -> usize {
    let page = page.max(1);
    let offset = if selected < offset {
        selected
    } else if selected >= offset + page {
        selected + 1 - page
    } else {
        offset
    };
    offset.min(len.saturating_sub(page))
}

pub fn filter(rows: &[RowData], needle: &str) -> Vec<usize> {
    let needle = needle.to_lowercase();
    rows.iter()
        .enumerate()
        .filter(|(_, r)| r.matches(&needle))
        .map(|(i, _)| i)
        .collect()
}
