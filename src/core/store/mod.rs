//! Generic containers of the core, tuned for its access patterns; they know nothing of the
//! domain (no dossier, event or period): a chunked slab, a block store for variable-length
//! arrays, an open-addressing index whose slots can be located ahead of time, a compact set of
//! 64-bit hashes, and the cache-prefetch hint they share.

pub mod blocks;
pub mod idset;
pub mod index;
pub mod prefetch;
pub mod slab;
