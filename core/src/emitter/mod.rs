//! The emitter: in-process aggregation and a flusher thread sending StatsD datagrams.
//! (Under construction.)
