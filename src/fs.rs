//! File I/O on the blocking pool (being written).
