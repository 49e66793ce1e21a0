//! Bounds on a module's shape, checked in one pass over its bytes before it is compiled.
//! wasmtime has no compile timeout, and the compiler's memory grows with what a module
//! declares: 5,000 functions of 50,000 `v128` locals each took 6 GB, a million empty
//! functions 5.4 GB, millions of nested blocks 2.8 GB. Real solutions stay far inside these
//! bounds (a Rust or C solution has a few hundred functions of a few dozen locals), so a
//! module outside them is refused as `invalid_submission` with the bound it broke.

use wasmparser::{Operator, Parser, Payload, TypeRef};

/// Functions defined in the module.
pub const MAX_FUNCTIONS: u32 = 50_000;
/// Locals of one function.
pub const MAX_LOCALS: u64 = 50_000;
/// Locals of all functions together.
pub const MAX_TOTAL_LOCALS: u64 = 1_000_000;
/// Blocks, loops and ifs open at once in one function (a `match` of a few hundred arms
/// nests that deep).
pub const MAX_NESTING: u32 = 10_000;
/// Memories, imported or defined (the sandbox allows this many per instance).
pub const MAX_MEMORIES: usize = 4;
/// Tables, imported or defined.
pub const MAX_TABLES: usize = 16;
/// Elements a table may start with (8 bytes of host memory each).
pub const MAX_TABLE_ELEMENTS: u64 = 1 << 20;

/// The first bound `bytes` breaks, in words that complete "the module …". Bytes that do not
/// parse are left to wasmtime, whose message says where they break.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    let mut memories = 0usize;
    let mut tables = 0usize;
    let mut total_locals = 0u64;
    let mut function = 0u32;
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else {
            return Ok(());
        };
        match payload {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports().flatten() {
                    match import.ty {
                        TypeRef::Memory(_) => memories += 1,
                        TypeRef::Table(_) => tables += 1,
                        _ => {}
                    }
                }
            }
            Payload::MemorySection(section) => memories += section.count() as usize,
            Payload::TableSection(section) => {
                for table in section.into_iter().flatten() {
                    tables += 1;
                    if table.ty.initial > MAX_TABLE_ELEMENTS {
                        return Err(format!(
                            "declares a table of {} elements; at most {MAX_TABLE_ELEMENTS} are \
                             allowed",
                            table.ty.initial
                        ));
                    }
                }
            }
            Payload::FunctionSection(section) if section.count() > MAX_FUNCTIONS => {
                return Err(format!(
                    "defines {} functions; at most {MAX_FUNCTIONS} are allowed",
                    section.count()
                ));
            }
            Payload::CodeSectionEntry(body) => {
                let mut locals = 0u64;
                if let Ok(reader) = body.get_locals_reader() {
                    for entry in reader.into_iter().flatten() {
                        locals = locals.saturating_add(u64::from(entry.0));
                    }
                }
                if locals > MAX_LOCALS {
                    return Err(format!(
                        "has a function (number {function}) with {locals} locals; at most \
                         {MAX_LOCALS} are allowed"
                    ));
                }
                total_locals = total_locals.saturating_add(locals);
                if total_locals > MAX_TOTAL_LOCALS {
                    return Err(format!(
                        "declares more than {MAX_TOTAL_LOCALS} locals in all its functions"
                    ));
                }
                let mut depth = 0u32;
                if let Ok(mut ops) = body.get_operators_reader() {
                    while !ops.eof() {
                        let Ok(op) = ops.read() else { break };
                        match op {
                            Operator::Block { .. }
                            | Operator::Loop { .. }
                            | Operator::If { .. }
                            | Operator::TryTable { .. } => {
                                depth += 1;
                                if depth > MAX_NESTING {
                                    return Err(format!(
                                        "has a function (number {function}) with blocks nested \
                                         more than {MAX_NESTING} deep"
                                    ));
                                }
                            }
                            Operator::End => depth = depth.saturating_sub(1),
                            _ => {}
                        }
                    }
                }
                function += 1;
            }
            _ => {}
        }
    }
    if memories > MAX_MEMORIES {
        return Err(format!(
            "has {memories} memories; at most {MAX_MEMORIES} are allowed"
        ));
    }
    if tables > MAX_TABLES {
        return Err(format!(
            "has {tables} tables; at most {MAX_TABLES} are allowed"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).expect("wat")
    }

    #[test]
    fn modules_past_a_bound_are_refused_with_it() {
        assert_eq!(check(&module("(module (func (local i32 f64)))")), Ok(()));
        let five = module("(module (memory 1) (memory 1) (memory 1) (memory 1) (memory 1))");
        assert_eq!(
            check(&five),
            Err("has 5 memories; at most 4 are allowed".into())
        );
        let big_table = module("(module (table 10000000 funcref))");
        assert!(check(&big_table).is_err_and(|e| e.contains("table of 10000000 elements")));
        let tables = format!("(module {})", "(table 1 funcref)".repeat(17));
        assert!(check(&module(&tables)).is_err_and(|e| e.contains("17 tables")));
        let locals = module(&format!(
            "(module (func (local {})))",
            "i32 ".repeat(50_001)
        ));
        assert!(check(&locals).is_err_and(|e| e.contains("with 50001 locals")));
        let deep = format!(
            "(module (func {}{}))",
            "(block ".repeat(10_001),
            ")".repeat(10_001)
        );
        assert!(check(&module(&deep)).is_err_and(|e| e.contains("nested more than 10000")));
        assert_eq!(check(b"not a module"), Ok(()), "left to wasmtime");
    }
}
