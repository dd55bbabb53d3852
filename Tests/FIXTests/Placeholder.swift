import FIX
