"""Layers with PyTorch's names, weight layouts and default initialisation."""
from scratchgan.nn import init
from scratchgan.nn.init import dcgan_init
from scratchgan.nn.layers import (BatchNorm, BatchNorm1d, BatchNorm2d, Conv2D, Conv2d,
                                  ConvTranspose2d, Dense, Dropout, Dropout2d, Embedding, Flatten,
                                  LeakyReLU, Linear, ReLU, Reshape, Sequential, ShapeError,
                                  Sigmoid, Tanh, Upsample)
from scratchgan.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from scratchgan.nn.module import Module, Parameter

__all__ = ["Module", "Parameter", "Linear", "Dense", "Conv2d", "Conv2D", "ConvTranspose2d",
           "BatchNorm", "BatchNorm1d", "BatchNorm2d", "LeakyReLU", "ReLU", "Tanh", "Sigmoid",
           "Dropout", "Dropout2d", "Embedding", "Upsample", "Flatten", "Reshape", "Sequential",
           "ShapeError", "init", "dcgan_init", "BCELoss", "BCEWithLogitsLoss", "MSELoss",
           "CrossEntropyLoss"]
