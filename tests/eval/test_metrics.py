import math

import pytest
import torch
from torch import nn

from sketchwidgets.eval.metrics import fid, find_fid_weights, l1, psnr, ssim


class TinyFeatures(nn.Module):
    """A stand-in for the Inception trunk (the real one: tests/test_untrusted_files.py)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 5, stride=4)

    def forward(self, x):
        return torch.tanh(self.conv(x)).mean(dim=(2, 3))


@pytest.fixture
def feature_file(tmp_path):
    """Any file: finding the weights does not read them (loading them is checked)."""
    path = tmp_path / "features.pt"
    path.write_bytes(b"weights")
    return path


def test_ssim_psnr_l1_on_known_images():
    real = torch.zeros(2, 3, 32, 32)  # mid grey in [-1, 1]
    assert ssim(real, real) == pytest.approx(1.0)
    fake = real + 0.2  # 0.1 in [0, 1] units -> MSE 0.01 -> PSNR 20 dB
    assert psnr(fake, real) == pytest.approx(20.0, abs=1e-3)
    assert l1(fake, real) == pytest.approx(0.1, abs=1e-6)
    assert ssim(torch.rand(2, 3, 32, 32) * 2 - 1, real) < 0.5


def test_fid_with_a_feature_network():
    features = TinyFeatures()
    a = torch.rand(32, 3, 32, 32) * 2 - 1
    b = (torch.rand(32, 3, 32, 32) * 0.2 + 0.7) * 2 - 1
    same = fid([a], [a], features=features)
    different = fid([a], [b], features=features)
    assert abs(same) < 1e-3 and different > 10 * max(abs(same), 1e-4)
    assert math.isfinite(different)


def test_fid_weights_are_found_by_argument_or_setting(feature_file, monkeypatch):
    assert find_fid_weights(feature_file) == feature_file
    monkeypatch.setenv("SKETCHWIDGETS_FID_WEIGHTS", str(feature_file))
    assert find_fid_weights() == feature_file
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        find_fid_weights("nope.pt")
