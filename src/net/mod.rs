//! TCP sockets on the reactor (being written).
