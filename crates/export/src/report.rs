//! HTML report (todo).
