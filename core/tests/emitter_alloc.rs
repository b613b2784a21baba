//! The hot path does not allocate: a counting global allocator sees no allocation during a loop
//! of catalog counts, handle increments and gauge updates after warm-up.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use realm_metrics::emitter::Emitter;
use realm_metrics::Metric;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // Only allocations made by the measuring thread while this is set are counted.
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if MEASURING.try_with(|m| m.get()).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn hot_loop(e: &Emitter, c: &realm_metrics::emitter::Counter, g: &realm_metrics::emitter::Gauge) {
    for i in 0..100_000u64 {
        e.count(Metric::ConnectionStarted, 1).unwrap();
        e.count(Metric::ProtocolBytesReceived, i).unwrap();
        e.gauge_add(Metric::ConnectionOnline, 1).unwrap();
        e.gauge_set(Metric::RealmsOpen, i as i64).unwrap();
        e.protocol_used(7).unwrap();
        c.increment(1);
        g.add(-1);
        // The error path does not allocate either.
        assert!(e.count(Metric::ConnectionOnline, 1).is_err());
    }
}

#[test]
fn hot_path_does_not_allocate() {
    let (e, spy) = Emitter::builder()
        .prefix("p")
        .flush_interval(Duration::from_millis(1))
        .spy()
        .unwrap();
    let c = e.counter("custom.counter").unwrap();
    let g = e.gauge("custom.gauge").unwrap();
    hot_loop(&e, &c, &g); // warm-up: thread stripe, protocol version slot
    MEASURING.with(|m| m.set(true));
    hot_loop(&e, &c, &g);
    MEASURING.with(|m| m.set(false));
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed), 0);
    e.close();
    assert!(!spy.lines().is_empty());
}
