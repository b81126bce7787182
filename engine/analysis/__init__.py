"""What derives from a recorded run, as functions of its record (engine.record.TraceRecord):
step-Jacobian norms, the gradient flow, its decay and bound, the plots' summary and the diagnosis.
`engine.trace.Trace` exposes them as lazy properties."""
from .decay import decay_bound, decay_factor, vanishing_profile
from .diagnosis import Finding, Thresholds, diagnose, gradient_decay, weight_spectra
from .flow import flow_matrix, gradient_norms
from .jacobians import exact_jacobian_norms, jacobian_norms
from .summary import summarize

__all__ = ["Finding", "Thresholds", "decay_bound", "decay_factor", "diagnose", "exact_jacobian_norms",
           "flow_matrix", "gradient_decay", "gradient_norms", "jacobian_norms", "summarize", "vanishing_profile",
           "weight_spectra"]
