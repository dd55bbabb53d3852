import PBFT
