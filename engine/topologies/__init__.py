"""The lectures' other recurrent topologies: Jordan networks and output-to-hidden recurrence (with
or without teacher forcing), which run as the engine's chain with the fed value as a detached extra
input, and recursive networks over trees (back-propagation through structure). See
docs/DESIGN.md, sections "Feedback networks" and "Recursive networks"."""
from .feedback import FEEDS, FeedbackNetwork, FeedbackRun, FeedbackTrace, feedback_shapes
from .recursive import RecursiveNetwork, TreeRun, recursive_shapes
from .tree_train import TreeTrainer
from .tree_trace import TREE_NODE, TreeTrace, tree_schedule
from .trees import SENTENCE_TREES, Tree, balanced_tree, parse_tree

__all__ = ["FEEDS", "FeedbackNetwork", "FeedbackRun", "FeedbackTrace", "RecursiveNetwork", "SENTENCE_TREES", "TREE_NODE", "Tree",
           "TreeRun", "TreeTrace", "TreeTrainer", "balanced_tree", "feedback_shapes", "parse_tree", "recursive_shapes",
           "tree_schedule"]
