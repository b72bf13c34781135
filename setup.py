"""Install: torch first, then ``pip install --no-build-isolation .`` (or ``-e .``); see README, Installation.

BasicSR 1.4.2 ships as an sdist that imports torch at build time: an isolated build would fetch a second torch.
Besides the packages, the wheel holds the shipped generic model (``rddg_basicsr/weights/``), the option presets (``rddg_basicsr/options/``, copied out by
``rddg-options``) and the start-up hook ``rddg_basicsr_hook.pth`` (BasicSR's own scripts find the plugin).
"""
import glob
import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
HOOK_PTH = 'rddg_basicsr_hook.pth'


class BuildWithHookAndOptions(build_py):
    """Also put the ``.pth`` hook at the wheel's root and ``options/*.yml`` into ``rddg_basicsr/options/``."""

    def run(self):
        super().run()
        self.copy_file(os.path.join(HERE, HOOK_PTH), os.path.join(self.build_lib, HOOK_PTH))
        options = os.path.join(self.build_lib, 'rddg_basicsr', 'options')
        self.mkpath(options)
        for path in sorted(glob.glob(os.path.join(HERE, 'options', '*.yml'))):
            self.copy_file(path, os.path.join(options, os.path.basename(path)))


class EditableWithHook(editable_wheel):
    """An editable install gets the ``.pth`` hook too (the options stay in the checkout's ``options/``)."""

    def _install_namespaces(self, installation_dir, pth_prefix):
        super()._install_namespaces(installation_dir, pth_prefix)
        self.copy_file(os.path.join(HERE, HOOK_PTH), os.path.join(installation_dir, HOOK_PTH))


setup(
    name='rddg-basicsr',
    version='0.2.0',
    description='Real-world low-light enhancement by domain adaptation (Darkening GAN + RDDG), a BasicSR plugin',
    long_description=open(os.path.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['rddg_basicsr', 'rddg_basicsr.*']),
    package_data={'rddg_basicsr': ['weights/generic_en.pth', 'weights/generic_en.json']},
    py_modules=['rddg_basicsr_hook'],
    cmdclass={'build_py': BuildWithHookAndOptions, 'editable_wheel': EditableWithHook},
    python_requires='>=3.9,<3.13',
    install_requires=['basicsr==1.4.2', 'torch>=2.0', 'torchvision', 'lpips', 'opencv-python', 'pyyaml', 'tb-nightly'],
    extras_require={
        'export': ['onnx', 'onnxscript', 'onnxruntime'],
        'app': ['gradio>=5'],
        'test': ['pytest>=7', 'hypothesis', 'onnx', 'onnxscript', 'onnxruntime'],
        'dev': ['pytest>=7', 'hypothesis', 'onnx', 'onnxscript', 'onnxruntime', 'ruff'],
    },
    entry_points={
        'console_scripts': [
            'rddg-train=rddg_basicsr.train:main',
            'rddg-test=rddg_basicsr.test:main',
            'rddg-pseudo-pairs=rddg_basicsr.make_pseudo_pairs:main',
            'rddg-enhance=rddg_basicsr.inference:main',
            'rddg-demo=rddg_basicsr.tools.demo.__main__:main',
            'rddg-options=rddg_basicsr.copy_options:main',
            'rddg-prepare=rddg_basicsr.prepare_data:main',
            'rddg-calibrate=rddg_basicsr.calibrate:main',
            'rddg-export=rddg_basicsr.export:main',
            'rddg-app=rddg_basicsr.app:main',
        ]
    },
    license='Apache-2.0',
)
