//! The compiled plan: a tree of typed nodes, column references resolved to
//! schema indexes, literals already Arrow arrays of one row.

use arrow_array::ArrayRef;
use arrow_schema::DataType;

use super::functions::Func;

/// One node of a compiled expression; `data_type` is what it evaluates to.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub data_type: DataType,
    /// False only when the node can never give a null.
    pub nullable: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Column(usize),
    /// A constant: an array of one row of the node's type.
    Literal(ArrayRef),
    /// `strict`: a non-null input that gives null is a row failure (CAST);
    /// otherwise it is only null (TRY_CAST, and casts that cannot fail).
    Cast {
        input: Box<Node>,
        strict: bool,
    },
    Negate(Box<Node>),
    Arith {
        op: ArithOp,
        left: Box<Node>,
        right: Box<Node>,
    },
    Compare {
        op: CmpOp,
        left: Box<Node>,
        right: Box<Node>,
    },
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    IsNull {
        input: Box<Node>,
        negated: bool,
    },
    Like {
        input: Box<Node>,
        pattern: Box<Node>,
        negated: bool,
        case_insensitive: bool,
    },
    /// `||`: null when either side is null.
    Concat(Box<Node>, Box<Node>),
    /// Searched CASE; a simple CASE is compiled into this with `=`
    /// conditions. `otherwise` is a null literal when ELSE is absent.
    Case {
        branches: Vec<(Node, Node)>,
        otherwise: Box<Node>,
    },
    Coalesce(Vec<Node>),
    Call {
        func: Func,
        args: Vec<Node>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    /// `/`: always on Float64.
    Div,
    /// `//`: on Int64, truncating.
    IntDiv,
    Rem,
}

impl ArithOp {
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::IntDiv => "//",
            ArithOp::Rem => "%",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl Node {
    pub fn new(kind: Kind, data_type: DataType, nullable: bool) -> Node {
        Node { kind, data_type, nullable }
    }

    /// The columns this node reads, appended to `out`.
    pub fn collect_columns(&self, out: &mut Vec<usize>) {
        let mut visit = |n: &Node| n.collect_columns(out);
        match &self.kind {
            Kind::Column(i) => out.push(*i),
            Kind::Literal(_) => {}
            Kind::Cast { input, .. } | Kind::Negate(input) | Kind::Not(input) | Kind::IsNull { input, .. } => {
                visit(input)
            }
            Kind::Arith { left, right, .. }
            | Kind::Compare { left, right, .. }
            | Kind::And(left, right)
            | Kind::Or(left, right)
            | Kind::Concat(left, right)
            | Kind::Like { input: left, pattern: right, .. } => {
                visit(left);
                visit(right);
            }
            Kind::Case { branches, otherwise } => {
                for (c, r) in branches {
                    visit(c);
                    visit(r);
                }
                visit(otherwise);
            }
            Kind::Coalesce(args) | Kind::Call { args, .. } => args.iter().for_each(visit),
        }
    }

    pub fn literal(&self) -> Option<&ArrayRef> {
        match &self.kind {
            Kind::Literal(a) => Some(a),
            _ => None,
        }
    }
}
