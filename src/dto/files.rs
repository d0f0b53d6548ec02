//! Imports, exports, reconciliation runs, circulars and alerts as JSON.
