//! The Java Card VM (issue #14): CAP files parsed and kept whole ([`cap`]), the structural
//! load-time verifier ([`verify`]), the instruction set ([`opcode`]) and a disassembler
//! ([`cap::dump`]). The linker, interpreter, heap and natives build on [`cap::Cap`].
//!
//! References are to the Java Card Virtual Machine Specification, Classic Edition 3.0.5 (JCVM),
//! ch. 6 "The CAP File Format" and ch. 7 "Java Card Virtual Machine Instruction Set"; 3.1
//! additions (CAP format 2.3, StaticResources, the extended format) are marked.

pub mod cap;
pub mod opcode;
pub mod verify;
