"""What the web app shows, without Streamlit: view-models over the library.

The library (the rest of ``vidcore``) computes; these modules turn its results into
what a page draws or serves, and are tested without a browser:

- ``tables``: DataFrames and summaries for the pages (dataset counts, runs, reports).
- ``charts``: the plotly figures (the HTML report draws the same ones).
- ``stream_tables``: the Live page's and the timeline's frames of probabilities.
- ``webio``: uploads saved privately, thumbnails, clips converted for the browser,
  typed dataset paths checked.
- ``previews``: one worker per server that converts clips for the browser.
- ``launch``: ``vidcore train`` and the demo generator as background processes.
- ``live``, ``live_feed``: a camera session (the latest frame, the classifier's thread).
- ``ice``: the WebRTC ICE servers of the Live page.

The library never imports this package except for the report, which reuses
``tables`` and ``charts`` so that it draws what Evaluate draws.
"""
