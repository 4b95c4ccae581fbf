//! Placeholder: the side-by-side load benchmarks land with the benchmarks issue.
