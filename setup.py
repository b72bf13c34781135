"""Install with: pip install torch==2.14.1 torchvision==0.29.1 && pip install --no-build-isolation basicsr==1.4.2
&& pip install -e .[test]   (see README: BasicSR ships as an sdist that needs torch at build time)."""
from setuptools import find_packages, setup

setup(
    name='rddg-basicsr',
    version='0.1.0',
    description='Real-world low-light enhancement by domain adaptation (Darkening GAN + RDDG), a BasicSR plugin',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['rddg_basicsr', 'rddg_basicsr.*']),
    python_requires='>=3.9,<3.13',
    install_requires=['basicsr==1.4.2', 'torch>=2.0', 'torchvision', 'lpips', 'opencv-python', 'pyyaml', 'tb-nightly'],
    extras_require={'test': ['pytest>=7'], 'dev': ['pytest>=7', 'ruff']},
    entry_points={
        'console_scripts': [
            'rddg-train=rddg_basicsr.train:main',
            'rddg-test=rddg_basicsr.test:main',
            'rddg-pseudo-pairs=rddg_basicsr.make_pseudo_pairs:main',
            'rddg-enhance=rddg_basicsr.inference:main',
            'rddg-demo=rddg_basicsr.demo.__main__:main',
        ]
    },
    license='Apache-2.0',
)
