//! The frame codec allocates nothing per frame in steady state: encode into a
//! reused buffer, decode in place (snappy into a reused scratch buffer).
//!
//! Counted with a global allocator wrapper, which is why this is its own test
//! binary. Only the counting thread's allocations count: libtest's main
//! thread may allocate while it waits (seen once on a loaded machine).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use status_rlpx::frame::FrameCodec;
use status_rlpx::Secrets;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // const-initialised and without a destructor: reading it never allocates
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn text(len: usize) -> Vec<u8> {
    b"status waku envelope topic message "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

#[test]
fn frames_allocate_nothing_in_steady_state() {
    COUNTING.with(|c| c.set(true));
    for snappy in [false, true] {
        for size in [64usize, 1024, 16 * 1024] {
            let a = Secrets::from_parts([1; 32], [2; 32], b"x", b"y");
            let b = Secrets::from_parts([1; 32], [2; 32], b"y", b"x");
            let (mut tx, mut rx) = (FrameCodec::new(a, 1 << 20), FrameCodec::new(b, 1 << 20));
            tx.set_snappy(snappy, 1 << 20);
            rx.set_snappy(snappy, 1 << 20);
            let payload = text(size);
            let mut wire = Vec::with_capacity(2 * size + 256);
            let mut round = |tx: &mut FrameCodec, rx: &mut FrameCodec| {
                wire.clear();
                tx.encode(0x10, &payload, &mut wire).expect("encode");
                let frame = rx.decode(&mut wire).expect("decode").expect("frame");
                assert_eq!(frame.payload, &payload[..]);
            };
            // Warm up: scratch buffers reach their working size.
            for _ in 0..4 {
                round(&mut tx, &mut rx);
            }
            let before = ALLOCS.load(Ordering::Relaxed);
            for _ in 0..200 {
                round(&mut tx, &mut rx);
            }
            let allocs = ALLOCS.load(Ordering::Relaxed) - before;
            assert_eq!(
                allocs, 0,
                "{allocs} allocations in 200 frames of {size} B (snappy {snappy})"
            );
        }
    }
}
