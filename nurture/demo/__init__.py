"""``make demo``: Nurture's main job end to end, through the real Prefect flows, in
simulated time on a fresh workspace (see :mod:`nurture.demo.run` and ``flows/demo.py``).

- :mod:`nurture.demo.workspace`: the workspace folder and the example team, campaigns,
  playbooks, purchases and event files loaded into it;
- :mod:`nurture.demo.people`: simulated managers and supervisors doing their work through
  the same functions the CLI and the web app call;
- :mod:`nurture.demo.summary`: what happened, for a marketing lead.
"""
