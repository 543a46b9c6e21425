//! Reading JSON lines with bounded memory, as every command that takes an events file does.

use std::io::BufRead;
use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result};

use super::files::{not_a_directory, Role};

/// An events file to read with [`Lines`]; `-` is standard input. A directory, or a file that
/// cannot be opened, is an error naming the events file.
pub fn open_events(path: &Path) -> Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    not_a_directory(path, Role::Events)?;
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open {} {}", Role::Events, path.display()))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, file)))
}

/// The non-blank lines of an input, one at a time, appended to a caller's buffer.
///
/// A line over the size limit keeps only a prefix that is still over it (the rest is skipped as
/// it is read): the decoder rejects it as too large, in its place, and memory stays bounded
/// whatever the input. A byte order mark that some editors write first, and a `\r` before the
/// `\n`, are not part of a line.
pub struct Lines<R> {
    input: R,
    keep: usize,
    line_no: u64,
}

impl<R: BufRead> Lines<R> {
    /// `max_bytes`: the size limit of one message.
    pub fn new(input: R, max_bytes: usize) -> Self {
        // The limit, a byte order mark, a `\r`, and one byte over.
        Lines {
            input,
            keep: max_bytes + 5,
            line_no: 0,
        }
    }

    /// Appends the next non-blank line to `buf`: where it lies in `buf`, and its line number
    /// (from 1). `None` at the end of the input.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> std::io::Result<Option<(Range<usize>, u64)>> {
        loop {
            let start = buf.len();
            let Some(complete) = read_line_bounded(&mut self.input, buf, self.keep)? else {
                return Ok(None);
            };
            self.line_no += 1;
            let mut msg = &buf[start..];
            if complete {
                msg = msg.strip_suffix(b"\r").unwrap_or(msg);
            }
            let mut from = start;
            if self.line_no == 1 {
                if let Some(rest) = msg.strip_prefix(b"\xef\xbb\xbf") {
                    msg = rest;
                    from += 3;
                }
            }
            if msg.iter().all(u8::is_ascii_whitespace) {
                buf.truncate(start);
                continue;
            }
            return Ok(Some((from..from + msg.len(), self.line_no)));
        }
    }
}

/// Appends the next line of `input` to `buf`, without its `\n`, keeping at most `keep` bytes of
/// it and skipping the rest unread into memory. `None` at the end of the input; otherwise
/// whether the whole line was kept.
fn read_line_bounded(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    keep: usize,
) -> std::io::Result<Option<bool>> {
    let start = buf.len();
    let mut seen = false;
    let mut complete = true;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(seen.then_some(complete));
        }
        seen = true;
        let (part, used, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        let room = keep.saturating_sub(buf.len() - start);
        if part.len() > room {
            complete = false;
        }
        buf.extend_from_slice(&part[..part.len().min(room)]);
        input.consume(used);
        if end {
            return Ok(Some(complete));
        }
    }
}
