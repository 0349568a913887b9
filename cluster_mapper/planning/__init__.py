"""The plan: units (``units``), the solve (``solve``), the plan in memory (``result``), cluster names (``naming``), reasons (``explain``), subject leaders (``roles``), alternatives (``alternatives``), what changed (``changes``) and the cluster files (``files``).

Named ``planning`` so that ``cluster_mapper.plan`` stays the public function.
"""
