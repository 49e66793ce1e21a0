//! `grader`: grades students' WebAssembly programs against problem specs.
//!
//! The pipeline runs one way:
//!
//! ```text
//! spec (problems/*) ─▶ sandbox (wasmtime) ─▶ compare (tolerances) ─▶ grade (verdicts) ─▶ report
//! ```
//!
//! - [`spec`] loads `grader.toml` and the problem specs and checks them.
//! - [`sandbox`] runs one module on inputs under limits, in worker processes it can kill;
//!   it knows nothing of specs.
//! - [`compare`] reads JSON output against typed, toleranced expectations; nothing of wasm.
//! - [`grade`] turns executions into verdicts and scores, and hides hidden data.
//! - [`report`] renders results for people and programs.
//! - [`student`] grades one student's hand-in folder ([`handin`] says which file is which
//!   problem, [`submission`] reads the files safely); [`staff`] proves the problem set.
//! - [`kit`] writes a student's starter repository (`init`) and builds it (`build`).
//! - [`app`] wires the commands of [`cli`] to the pipeline.

pub mod app;
pub mod cli;
pub mod cohort;
pub mod compare;
pub mod grade;
pub mod gradebook;
pub mod handin;
pub mod kit;
pub mod marks;
pub mod parallel;
pub mod report;
pub mod sandbox;
pub mod sanitize;
pub mod spec;
pub mod staff;
pub mod student;
pub mod submission;
pub mod verdict;
