"""cluster_mapper: form teacher peer-learning clusters from schools, rosters and roads.

The modules read as the pipeline: ``inputs`` (load and validate), ``network``
and ``travel`` (travel times), ``units`` (who must stay together), ``model``
(the OR-Tools cluster model), ``validate`` (independent plan checks),
``plan_io`` (plan files), ``report`` and ``mapping`` (review).
"""

__version__ = "0.1.0"
