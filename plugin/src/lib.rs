//! The Netbend plugin. Not built yet: it lands with the plugin issue. This crate holds no plugin until then.
