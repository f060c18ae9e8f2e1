//! A global allocator that counts, per thread, the allocations and the
//! bytes allocated, so that tests running in parallel do not see each
//! other's. A test binary registers it:
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: tollgate_test_support::counting::Counting =
//!     tollgate_test_support::counting::Counting;
//! ```
//!
//! The core's `tests/memory.rs` reads the bytes, `tollgate-tower`'s
//! `tests/alloc.rs` the number of allocations.

#![expect(unsafe_code, reason = "a global allocator is an unsafe trait")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The counting allocator: every call goes to the system allocator.
#[derive(Debug)]
pub struct Counting;

thread_local! {
    /// (allocations, bytes) of this thread so far.
    static COUNTS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// Allocations this thread has made so far.
pub fn allocations() -> usize {
    COUNTS.with(Cell::get).0
}

/// Bytes this thread has allocated so far.
pub fn allocated() -> usize {
    COUNTS.with(Cell::get).1
}

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // try_with: the thread's counter may already be gone at exit.
        let _ = COUNTS.try_with(|c| {
            let (n, bytes) = c.get();
            c.set((n.saturating_add(1), bytes.saturating_add(layout.size())));
        });
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above; `ptr` came from `System.alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}
