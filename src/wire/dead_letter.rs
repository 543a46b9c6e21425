//! The headers of a dead-letter record: the original message is kept byte for byte as the
//! value (and its key as the key); these say why it was refused and where it came from.

/// The reject code (`too_large`, `invalid_value`, …).
pub const H_REASON: &str = "chiso.reason";
/// The reject, in words.
pub const H_REASON_TEXT: &str = "chiso.reason_text";
/// The topic, partition and offset the message was read from.
pub const H_TOPIC: &str = "chiso.source_topic";
pub const H_PARTITION: &str = "chiso.source_partition";
pub const H_OFFSET: &str = "chiso.source_offset";
/// For a line loaded by `chiso produce`, instead of the topic headers: the file and the line
/// number (from 1). A too-large line's value is its first bytes only (the limit's worth).
pub const H_FILE: &str = "chiso.source_file";
pub const H_LINE: &str = "chiso.source_line";
