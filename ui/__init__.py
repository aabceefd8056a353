"""Streamlit helpers shared by the pages: the model switcher, caches, the drawing canvas and plotly charts.

Only the app imports this package; ``data_loader/`` and ``model/`` never import streamlit.
"""
