//! Analysis summary (todo).
