"""The HTTP edge: one helper module (edge.py) and one Chalice blueprint per audience.

Only this package and app.py import Chalice. A route parses its request, calls one service and turns the
result, or a domain error, into a response; domain modules are imported inside the routes that need them,
so a cold start that only stores a post loads none of the rest.
"""
