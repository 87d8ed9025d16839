import CMalloc

/// Keeps freed memory in the process instead of handing it back to the kernel while it runs.
///
/// gobot is a short-lived process (one step, or one backtest), so memory handed back to the
/// kernel mid-run only returns as page faults a moment later. (`dashboard --serve`, the one
/// long-lived command, keeps its peak heap for its life: a few MB for a read-only page.) With glibc's defaults a
/// `backtest --pipeline` of 30 days made 4,514 `madvise` calls and 104–123 k page faults
/// (0.35–0.52 s of system time); with these settings, none and 4.9 k (0.07–0.12 s), for 2–3 MB
/// more peak memory (README, "The step pipeline").
enum MallocTuning {
    static func apply() {
        // Setting the trim threshold freezes glibc's adaptive mmap threshold at 128 KB, which
        // would send every large array (a month of candles) to mmap and back: raise it as well.
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
        _ = mallopt(M_TOP_PAD, 16 << 20)
    }
}
