//! Text themes (todo).
