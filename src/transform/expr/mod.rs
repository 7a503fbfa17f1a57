//! SQL scalar expressions, parsed by sqlparser, compiled once against a
//! schema into a typed plan, evaluated with Arrow compute kernels.
