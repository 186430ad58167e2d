"""Dialog generation with three agents (user, assistant, tool), each programmatic or model-driven.

:mod:`.plans` (:class:`~.plans.Planner`: each dialog's type, tools and correct calls), :mod:`.agents`
(the dialog state and the agent interfaces), :mod:`.template_agents` and :mod:`.model_agents`
(the two implementations), :mod:`.complexity` (the loss-based filter that steers the type mix)
and :mod:`.generator` (:class:`~.generator.DialogGenerator`, running them in batches). The public
names are exported by :mod:`ifrl.toolgen`.
"""
