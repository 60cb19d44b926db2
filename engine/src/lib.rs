//! Netbend model runtime and bending. The model runtime lands with the engine issue; this crate is empty until then.
