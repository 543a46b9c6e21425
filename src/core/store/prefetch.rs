//! A hint that memory is about to be read, for ingesting events in batches.
//!
//! Duplicate detection and the dossier lookup each start with a read at an address only the
//! event's hash decides, so nearly every one misses the cache. [`crate::core::Engine::ingest_batch`]
//! hashes a few events ahead and asks for those lines early, so that the misses of several events
//! overlap instead of following one another. A hint changes no result: where the target has no
//! such instruction it does nothing.

/// Asks for the cache line holding `r` to be brought close to the core.
#[inline(always)]
pub fn prefetch<T: ?Sized>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint, never a load the program can observe: it cannot fault or
        // change memory, and `r` is a valid reference anyway. SSE (which provides it) is part of
        // the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((r as *const T).cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}
